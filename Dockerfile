FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml ./
COPY . .
RUN pip install . && DEBUG=true python manage.py collectstatic --no-input
EXPOSE 8000
CMD ["gunicorn", "notifuse_smtp.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3"]
