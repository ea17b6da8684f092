# One image for every Tessera role (docker-compose.yml runs it as nameservers, tablets and
# ns_client). The build stage compiles the workspace; `pnpm deploy --prod` then copies only
# @tessera/roles (the role launcher), the workspace packages it runs and their production dependencies (no tap,
# TypeScript or test tools) into /out, which is all the final image carries. It runs as the
# unprivileged `tessera` user; tablet data goes to /data (a volume).
FROM node:20-bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/* \
  && npm install -g pnpm@12.4.2
WORKDIR /src
COPY . .
RUN pnpm install --frozen-lockfile && pnpm exec tsc -b \
  && pnpm --filter @tessera/roles deploy --prod /out

FROM node:20-bookworm-slim
ENV NODE_ENV=production
RUN groupadd --system tessera && useradd --system --gid tessera --home-dir /tessera --shell /usr/sbin/nologin tessera \
  && mkdir -p /data && chown tessera:tessera /data
WORKDIR /tessera
COPY --from=build --chown=root:root /out /tessera
USER tessera
VOLUME ["/data"]
# Healthy while the role in this container (found by its --endpoint= flag) answers /v1/health.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["node", "/tessera/dist/src/container-probe.js"]
ENTRYPOINT ["node", "/tessera/dist/src/main.js"]
CMD ["--help"]
