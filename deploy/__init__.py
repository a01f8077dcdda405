"""Beyond one machine: the production instance config, the Celery cluster demo, Kubernetes values."""
