"""Arrived (checked in at the desk) and the time of arrival.

A nullable column is added in place (ALTER TABLE ADD COLUMN), and a change of
choices alters nothing in the database, so SQLite does not remake the table
and the overlap triggers of 0002 stay (the overlap test would catch it).
Arrived holds its slot: the guards refuse overlaps for every status but
cancelled.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('scheduling', '0002_appointment_overlap_guard'),
    ]

    operations = [
        migrations.AddField(
            model_name='appointment',
            name='arrived_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name='appointment',
            name='status',
            field=models.CharField(choices=[('booked', 'Booked'), ('pending', 'Pending'), ('rescheduled', 'Rescheduled'), ('arrived', 'Arrived'), ('cancelled', 'Cancelled'), ('completed', 'Completed'), ('no_show', 'No-show')], default='booked', max_length=20),
        ),
    ]
