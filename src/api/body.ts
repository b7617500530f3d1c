/** Request bodies: size limit, and decoding JSON, YAML and Kubernetes protobuf into objects. */
import type { IncomingMessage } from 'node:http';
import { parse as parseYaml } from 'yaml';
import { ApiError, badRequest } from './errors.ts';
import { decodeKubeProtobuf, isKubeProtobuf, ProtobufError } from './protobuf/index.ts';

/** The API server's request-body cap, as the real one (3 MiB). */
export const maxBodyBytes = 3 * 1024 * 1024;

/** Reads the whole body, or throws 413 as soon as it passes the limit. */
export function readBody(req: IncomingMessage, limit = maxBodyBytes): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) {
      req.resume();
      reject(tooLarge(limit));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (c: Buffer) => {
      if (failed) return;
      size += c.length;
      if (size > limit) {
        failed = true;
        reject(tooLarge(limit));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!failed) resolve(Buffer.concat(chunks));
    });
    req.on('error', (e) => {
      if (!failed) reject(e);
    });
  });
}

function tooLarge(limit: number): ApiError {
  return new ApiError('RequestEntityTooLarge', `Request entity too large: limit is ${limit}`);
}

/** Decodes a body by its Content-Type into a JSON value. */
export function decodeBody(buf: Buffer, contentType: string | undefined): unknown {
  const ct = (contentType ?? 'application/json').split(';')[0].trim().toLowerCase();
  if (ct === 'application/vnd.kubernetes.protobuf') {
    if (!isKubeProtobuf(buf)) throw badRequest('provided protobuf body does not start with the k8s\\x00 magic prefix');
    try {
      return decodeKubeProtobuf(buf);
    } catch (e) {
      if (e instanceof ProtobufError) throw badRequest(e.message);
      throw e;
    }
  }
  const text = buf.toString('utf8');
  if (ct === 'application/yaml' || ct === 'application/apply-patch+yaml') {
    try {
      return parseYaml(text);
    } catch (e) {
      throw badRequest(`error converting YAML to JSON: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  if (!text.trim()) throw badRequest('the request body is empty');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw badRequest(`couldn't get version/kind; json parse error: ${(e as Error).message}`);
  }
}
