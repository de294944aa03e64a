FROM python:3.11-slim
# Production settings: DEBUG is off, and every process refuses to start until SECRET_KEY and
# FERNET_KEYS hold real keys (`python manage.py generate_keys` prints new ones).
# gunicorn binds 0.0.0.0:$PORT and believes X-Forwarded-Proto only from FORWARDED_ALLOW_IPS:
# set it to your proxy's address (docs/operations.md, "Behind a proxy").
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 DEBUG=false PORT=8000 FORWARDED_ALLOW_IPS=127.0.0.1,::1
WORKDIR /app
COPY pyproject.toml ./
COPY . .
# collectstatic runs in production mode, as the image does, so that it writes the manifest
# the compressed static files are served from; throwaway keys let it start.
RUN pip install . && env $(python manage.py generate_keys) python manage.py collectstatic --no-input
EXPOSE 8000
CMD ["gunicorn", "notifuse_smtp.wsgi", "--workers", "3"]
