/** `npm run bench -- <name>`: runs one benchmark from bench/ (default: api). */
const name = process.argv[2] ?? 'api';
await import(`./${name}.ts`);
