# Stand-in for mailhog/mailhog:v1.0.1: accepts SMTP on 1025 and shows what it received on
# 8025 through the part of MailHog's HTTP API that tools use (/api/v2/messages,
# /api/v2/search, /api/v1/messages). Runs as the `mailhog` user, like the real image.
FROM node:24-bookworm-slim
RUN apt-get update -q \
 && apt-get install -y -q --no-install-recommends wget \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb \
 && useradd --system --create-home mailhog
WORKDIR /opt/mailhog
RUN npm install --no-audit --no-fund --no-package-lock --loglevel=error smtp-server@3.21.6 \
 && rm -rf /root/.npm
COPY mailhog.ts ./
USER mailhog
EXPOSE 1025 8025
CMD ["node", "mailhog.ts"]
