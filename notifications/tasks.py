"""Background tasks (django.tasks; the database backend's `manage.py db_worker` runs them)."""

from django.tasks import task

from notifications import services


@task()
def deliver_notification(notification_id: int) -> str:
    return services.notification_deliver(notification_id)
