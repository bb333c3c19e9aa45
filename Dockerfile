# One image for every Siaga process; docker-compose.yml picks the command per service.
FROM python:3.11-slim
WORKDIR /app
# runs as an unprivileged user; /state (the compose volumes' mount point) is its own
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /home/siaga siaga \
    && install -d -o siaga -g siaga /state
# exact versions from the lock file (see its header), nothing resolved at build time
COPY requirements.lock ./
RUN pip install --no-cache-dir --no-deps -r requirements.lock
COPY pyproject.toml README.md ./
COPY fogverse ./fogverse
COPY apps ./apps
COPY workflows ./workflows
COPY activities ./activities
COPY workers ./workers
COPY receiver ./receiver
RUN pip install --no-cache-dir --no-deps . && pip check
ENV PYTHONUNBUFFERED=1 SIAGA_STATE_DIR=/state
USER siaga
CMD ["python", "-m", "workers"]
