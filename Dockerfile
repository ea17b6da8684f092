# One image for every Tessera role (docker-compose.yml runs it as nameservers and tablets).
FROM node:20-bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/* \
  && npm install -g pnpm@12.4.2
WORKDIR /tessera
COPY . .
RUN pnpm install --frozen-lockfile && pnpm exec tsc -b

FROM node:20-bookworm-slim
WORKDIR /tessera
COPY --from=build /tessera /tessera
ENTRYPOINT ["/tessera/scripts/tessera"]
