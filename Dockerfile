# Taxi ride duration prediction service: Express + onnxruntime-node, with the embedded model registry.
#   docker build -t taxi-ride-duration .
#   docker run --rm -p 9696:9696 taxi-ride-duration
# The stream consumer is the same image with another command (docs/streaming.md):
#   docker run --rm -e REDIS_URL=redis://redis:6379 taxi-ride-duration node dist/stream.js
# The same image scores a month offline (docs/batch.md):
#   docker run --rm -v $PWD/out:/out taxi-ride-duration node dist/score.js --data <TLC parquet URL> --output /out
# tests/service/dockerfile.test.ts replays this file's COPY/RUN/CMD/HEALTHCHECK steps on a clean copy
# of the repository (no Docker engine is needed), so keep to those instructions.

# ---- build: compile TypeScript and bundle the runners with the dev dependencies ----
FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# Scripts off: the package's own `prepare` (the build) runs below once the sources are in.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts/bundle.ts ./scripts/
RUN npm run build

# ---- runtime: production dependencies, compiled JavaScript and the model ----
FROM node:20-slim AS runtime
# WORKERS=auto: one worker process per available CPU behind the one port (node:cluster). Kubernetes
# overrides it from the ConfigMap to match the pod's CPU limit.
ENV NODE_ENV=production WORKERS=auto
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# --ignore-scripts: `prepare` would need the dev dependencies, and onnxruntime-node's postinstall only
# downloads GPU binaries (also disabled by onnxruntime-node-install=skip in .npmrc); the CPU runtime
# ships inside the package.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# The demo page and the API docs page (Swagger UI itself comes from the swagger-ui-dist dependency).
COPY public ./public
COPY models ./models
# The image's `node` user (uid 1000); files stay root-owned and read-only to it.
USER node
EXPOSE 9696
# No curl in slim images: Node's own fetch probes liveness.
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||9696)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Exec form, node itself as PID 1: SIGTERM from `docker stop` or Kubernetes reaches the server's own
# handler (drain, then exit 0). Not `npm start`, which would sit in between. No tini needed: the server
# installs SIGTERM/SIGINT handlers, and its only children are its own cluster workers, which the
# primary forwards signals to and waits for (node's cluster module reaps them).
CMD ["node", "--max-semi-space-size=4", "dist/server.js"]
