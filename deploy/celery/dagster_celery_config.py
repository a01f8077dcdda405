"""Settings of every Celery app dagster-celery makes (``dagster_celery.app`` imports this module when it
is on ``PYTHONPATH``): the workers' broker and result backend, from the environment."""

import os

broker_url = os.environ.get("TERRITOIRE_CELERY_BROKER", "redis://127.0.0.1:6379/0")
result_backend = os.environ.get("TERRITOIRE_CELERY_BACKEND", broker_url)
# One step at a time per worker process, taken when it starts: a long step never holds a queue of others.
worker_prefetch_multiplier = 1
task_acks_late = True
