# syntax=docker/dockerfile:1
# kissbot-bridge: build with the dev dependencies, run with the production ones only.

FROM node:20-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 is a native addon, compiled here.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json tsconfig.json ./
COPY src ./src
# npm ci builds dist/ itself (the package's prepare script), so the sources come first.
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only, with the addon compiled in the build stage for this same base image.
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
# What the program reads at run time, as the npm package ships it: prices, the status page, the runbook.
COPY prices ./prices
COPY web ./web
COPY docs/runbook.md ./docs/runbook.md
# The image's unprivileged user; docker-compose.yml may run it as the bots' uid:gid instead.
USER node
EXPOSE 9877
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "const u = '127.0.0.1:9877/-/healthy', ok = (r) => process.exit(r.statusCode === 200 ? 0 : 1); require('http').get('http://' + u, ok).on('error', () => require('https').get('https://' + u, { rejectUnauthorized: false }, ok).on('error', () => process.exit(1)))"]
ENTRYPOINT ["node", "dist/src/cli.js"]
CMD ["--listen", "0.0.0.0:9877", "--db", "/data/kissbot_monitor.db", "--channel-log-dir", "/data/logs/broadcast"]
