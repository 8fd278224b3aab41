# One image for every service. docker-compose.yml picks the process with SERVICE; the Kubernetes
# manifests (deploy/) run `node dist/apps/<service>/src/main.js` directly.
FROM node:20.19-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# npm install, not npm ci: npm 11 writes lockfiles its own `npm ci` rejects (see .ci/run).
RUN npm install --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:20.19-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    SERVICE=gateway
WORKDIR /app
# Owned by root: the service's user reads its code but cannot rewrite it.
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The image's `node` user, by number: Kubernetes verifies runAsNonRoot only against a numeric user.
USER 1000:1000
# Liveness of whichever service runs: PORT when set, else that service's default port
# (libs/testing/src/service-process.ts; a spec keeps the two lists equal). No curl in the image.
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "const ports = { 'gateway': 4000, 'notebook-service': 4101, 'auth-service': 4102, 'execution-service': 4103, 'search-service': 4104, 'projection-service': 4105 }; const port = process.env.PORT || ports[process.env.SERVICE]; fetch('http://127.0.0.1:' + port + '/health/live', { signal: AbortSignal.timeout(2500) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# exec: the service replaces the shell and gets SIGTERM directly, so it drains before exiting.
CMD ["sh", "-c", "exec node dist/apps/${SERVICE}/src/main.js"]
