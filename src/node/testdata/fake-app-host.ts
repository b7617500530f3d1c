// A stand-in for `skiff app-host` in tests: the real host machinery (src/node/apphost) with fake-skiff's
// app: serves {"app", "args", "path", "port"} on $POD_IP:$PORT; /status/<code> answers <code>; /crash
// throws from the request handler (an uncaught error of that app); /reject leaves a promise rejected.
// /block never returns (the host's event loop hangs). Every answer names the host's pid in x-host-pid.
import http from 'node:http';
import { serveAppHost, type AppStarter } from '../apphost/index.ts';

const start: AppStarter = (app, args, env, io) =>
  new Promise((resolve, reject) => {
    const server = http.createServer((req, res) => {
      if (req.url === '/crash') throw new Error(`${app} crashed on purpose`);
      if (req.url === '/reject') void Promise.reject(new Error(`${app} rejected on purpose`));
      if (req.url === '/block') {
        io.stdout('blocking\n');
        for (;;);
      }
      const m = /^\/status\/(\d+)$/.exec(req.url ?? '');
      res.writeHead(m ? Number(m[1]) : 200, { 'content-type': 'application/json', 'x-host-pid': String(process.pid) });
      res.end(JSON.stringify({ app, args, path: req.url, port: env.PORT }));
    });
    server.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EADDRINUSE') return reject(e);
      io.stderr(`${app}: cannot listen on ${env.POD_IP}:${env.PORT}: the port is already in use\n`);
      resolve(1);
    });
    server.listen(Number(env.PORT ?? 8080), env.POD_IP ?? '127.0.0.1', () => {
      io.stdout(`${app} listening on ${env.POD_IP}:${env.PORT}\n`);
      resolve({
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });

process.exitCode = serveAppHost(start);
