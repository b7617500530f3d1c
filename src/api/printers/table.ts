/** Builds meta.k8s.io/v1 Table responses from a printer and objects. */
import type { KObject, ObjectMeta, Printer } from '../types.ts';
import type { RowCondition } from './pods.ts';

/** Options for toTable; includeObject follows the `includeObject` query parameter (default Metadata). */
export interface TableOptions {
  now: number;
  resourceVersion: string;
  includeObject?: 'None' | 'Metadata' | 'Object';
  /** False for `TableOptions.noHeaders` (kubectl's later watch events): columnDefinitions is then empty. */
  withColumns?: boolean;
}

/** Defaults applied once by toTable. */
export const tableDefaults = { includeObject: 'Metadata', withColumns: true } as const;

/** The metadata kubectl reads from a row (namespace for -A, labels for --show-labels), without managedFields bulk. */
function partialMetadata(obj: KObject): Record<string, unknown> {
  const { managedFields: _dropped, ...meta } = obj.metadata ?? ({} as ObjectMeta);
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: meta };
}

function rowConditions(printer: Printer, obj: KObject): RowCondition[] | undefined {
  const p = printer as Printer & { conditions?: (o: KObject) => RowCondition[] | undefined };
  return typeof p.conditions === 'function' ? p.conditions(obj) : undefined;
}

/** Builds a Table for objects; row.object is PartialObjectMetadata unless includeObject says None or Object. */
export function toTable(printer: Printer, objects: KObject[], opts: TableOptions): Record<string, unknown> {
  const includeObject = opts.includeObject ?? tableDefaults.includeObject;
  const withColumns = opts.withColumns ?? tableDefaults.withColumns;
  const rows = objects.map((obj) => {
    const row: Record<string, unknown> = { cells: printer.cells(obj, opts.now) };
    const conditions = rowConditions(printer, obj);
    if (conditions) row.conditions = conditions;
    if (includeObject === 'Metadata') row.object = partialMetadata(obj);
    else if (includeObject === 'Object') row.object = obj;
    return row;
  });
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion: opts.resourceVersion },
    columnDefinitions: withColumns ? printer.columns : [],
    rows,
  };
}
