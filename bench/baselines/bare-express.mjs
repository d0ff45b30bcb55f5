// The framework's limit: Express 5 with default settings, parsing the same JSON body with express.json()
// and answering a constant with res.json. Started by bench/run.ts as a reference target.
import express from 'express';

const app = express();
app.use(express.json());
app.post('/predict', (_req, res) => {
  res.json({ duration: 12.5, model_version: 'constant' });
});
const server = app.listen(Number(process.env.PORT ?? 9700), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
