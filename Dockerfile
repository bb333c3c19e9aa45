# One image for every Siaga process; docker-compose.yml picks the command per service.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY fogverse ./fogverse
COPY apps ./apps
COPY workflows ./workflows
COPY activities ./activities
COPY workers ./workers
COPY receiver ./receiver
RUN pip install --no-cache-dir .
ENV PYTHONUNBUFFERED=1
CMD ["python", "-m", "workers"]
