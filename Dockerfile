# multiuser-server image: build with the dev dependencies, run with the production ones and dist/.
#   docker build -t multiuser-server .          (or: docker-compose build)
# NODE_IMAGE lets a mirror or a locally built stand-in replace the Docker Hub base.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts/ensure-built.mjs scripts/copy-static.mjs ./scripts/
COPY src ./src
# The image installs exactly what `npm pack` ships (dist/src and package.json), with the locked
# production dependencies only.
RUN npx tsc -p tsconfig.json \
 && node scripts/copy-static.mjs \
 && npm pack --ignore-scripts --pack-destination /tmp \
 && mkdir /app \
 && tar -xzf /tmp/multiuser-server-*.tgz -C /app --strip-components=1 \
 && cp package-lock.json /app/ \
 && cd /app \
 && npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force

FROM ${NODE_IMAGE}
# A fixed UID/GID, so host-side ownership of ./data is predictable (chown 10001:10001 data).
RUN groupadd --system --gid 10001 multiuser \
 && useradd --system --uid 10001 --gid multiuser --home-dir /data --no-create-home \
      --shell /usr/sbin/nologin multiuser \
 && mkdir -p /data \
 && chown multiuser:multiuser /data
COPY --from=build /app /app
COPY deploy/docker/entrypoint.sh /usr/local/bin/docker-entrypoint.sh
RUN chmod 0755 /app/dist/src/cli/main.js /usr/local/bin/docker-entrypoint.sh \
 && ln -s /app/dist/src/cli/main.js /usr/local/bin/multiuser-server
# Inside the container the server always listens on 5555-5557 of every interface and keeps its
# data in the /data volume; publish other host ports in docker-compose.yml instead.
ENV NODE_ENV=production \
    PORT=5555 \
    HOST=* \
    DATA_DIR=/data
WORKDIR /app
VOLUME ["/data"]
EXPOSE 5555 5556 5557
STOPSIGNAL SIGTERM
# A RequestServerInfo on the command port; fails when the server cannot answer within 2 s.
HEALTHCHECK --interval=5s --timeout=4s --start-period=120s --retries=3 \
  CMD ["multiuser-server", "health"]
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["multiuser-server", "serve"]
