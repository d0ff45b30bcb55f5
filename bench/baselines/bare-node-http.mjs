// The machine's limit for reference: node:http alone reading the same JSON body, parsing it and answering a constant.
import http from 'node:http';

const body = JSON.stringify({ duration: 12.5, model_version: 'constant' });
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    JSON.parse(Buffer.concat(chunks).toString('utf8'));
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.listen(Number(process.env.PORT ?? 9701), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
