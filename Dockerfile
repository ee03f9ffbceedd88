# egresslens: the CLI and server (`serve` consumes Kafka, takes Fluent Bit HTTP, serves the API).
#   docker build -t egresslens .
#   docker run --rm -p 8080:8080 -e EGRESSLENS_AUTH_TOKEN=... egresslens serve --host 0.0.0.0
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Scripts off: `prepare` would compile before the sources are copied; chdb's install script is a no-op.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    EGRESSLENS_DATA=/var/lib/egresslens
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The embedded store's directory, for runs without a ClickHouse server.
RUN mkdir -p /var/lib/egresslens && chown node:node /var/lib/egresslens
VOLUME /var/lib/egresslens
USER node
EXPOSE 8080
ENTRYPOINT ["node", "--max-old-space-size=4096", "dist/bin/egresslens.cjs"]
CMD ["serve", "--host", "0.0.0.0"]
