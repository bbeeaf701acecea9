# syntax=docker/dockerfile:1
# Petrel's container image: `petrel agent` (DaemonSet) and `petrel reflector` (Deployment), see deploy/.
#
#   docker build -t <registry>/petrel:<version> .
#   podman build --build-arg NODE_IMAGE=<a local base with Node in /usr/local> ...   (no registry: CI's
#       test/image/prepare.sh makes one from Debian's packages and this machine's Node)
#
# Two stages on the current Node.js LTS over Debian 12 slim (glibc: the netlink addon is built here
# against glibc and Node-API, so it runs on any Node ≥ 20 of the same libc, but not on musl/Alpine):
#   build    npm ci with dev dependencies, `npm run build` (native/ addon with node-gyp + tsc to dist/),
#            then drops the dev dependencies;
#   runtime  dist/, the addon, production node_modules, and nftables (natOutgoing runs `nft`);
#            iproute2 for `ip route` / `ip -d link` when troubleshooting a node from the pod.
# It runs as uid 0 with every capability dropped but the ones deploy/ adds (NET_ADMIN,
# NET_BIND_SERVICE): see deploy/base/agent-daemonset.yaml for why non-root is impossible here.
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# node-gyp compiles against the headers the image already carries instead of downloading them.
ENV npm_config_nodedir=/usr/local
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
# The whole of native/ (sources, binding.gyp and build.mjs, which `npm run build` runs; anything added
# there later comes along); .dockerignore keeps its build/ output out.
COPY native ./native
COPY src ./src
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && node -e "require('./native/build/Release/petrel_netlink.node')" \
 && test -x native/build/petrel-cni

FROM ${NODE_IMAGE} AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends nftables iproute2 \
 && apt-get clean && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/petrel
ENV NODE_ENV=production
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/native/build/Release/petrel_netlink.node ./native/build/Release/petrel_netlink.node
# The CNI plugin executable (static: it runs on the host, copied there by `petrel install-cni`).
COPY --from=build /src/native/build/petrel-cni ./native/build/petrel-cni
# BGP, metrics, health (documented defaults; the manifests pass them explicitly).
EXPOSE 179 9476 9477
USER 0
# deploy/ sets the command (`node dist/cli.js agent|reflector ...`); alone, the image prints its help.
CMD ["node", "dist/cli.js", "--help"]
