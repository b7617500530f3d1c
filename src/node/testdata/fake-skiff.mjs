// A stand-in for bin/skiff.js in tests: `app <id> [args]` serves HTTP on $POD_IP:$PORT, answering
// {"app": id, "args": [...], "path": ...}. Paths: /healthz answers 200, /status/<code> answers <code>.
import http from 'node:http';

const [cmd, id, ...args] = process.argv.slice(2);
if (cmd !== 'app' || !id) {
  process.stderr.write('usage: fake-skiff app <id> [args]\n');
  process.exit(2);
}
const server = http.createServer((req, res) => {
  const m = /^\/status\/(\d+)$/.exec(req.url ?? '');
  res.writeHead(m ? Number(m[1]) : 200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ app: id, args, path: req.url, port: process.env.PORT }));
});
server.listen(Number(process.env.PORT ?? 8080), process.env.POD_IP ?? '127.0.0.1', () => {
  process.stdout.write(`${id} listening on ${process.env.POD_IP}:${process.env.PORT}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
