# syntax=docker/dockerfile:1
#
# One image for both processes: `node dist/server.js` (API, the default) and
# `node dist/worker.js` (Temporal worker; docker-compose.yml overrides the command).
#
# Debian (glibc), not Alpine: @temporalio/core-bridge ships prebuilt native
# binaries for linux-gnu only.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app

# Dependencies first so the layer is reused until package*.json changes.
# --ignore-scripts: dependency install scripts are denied (see `allowScripts`
# in package.json); nothing the build or runtime needs comes from them.
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --ignore-scripts --no-audit --no-fund

COPY . .
# Compile to dist/, then prebuild the workflow bundle (dist/workflow-bundle.js)
# so production workers never run webpack at start-up.
RUN npm run build \
 && npm run build:workflows \
 && test -f dist/server.js && test -f dist/worker.js && test -f dist/workflow-bundle.js \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

# ---------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
WORKDIR /app

ENV NODE_ENV=production \
    APP_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    WORKFLOW_BUNDLE_PATH=/app/dist/workflow-bundle.js \
    NODE_OPTIONS=--enable-source-maps

# Files stay owned by root: the app (running as `node`) can read its code but not change it.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist

USER node
EXPOSE 3000

# No npm at runtime: node is PID 1's child under `init: true` (compose) or `docker run --init`,
# so SIGTERM reaches the process and the worker can drain within its shutdown grace time.
CMD ["node", "dist/server.js"]
