"""Whether and when the patient confirmed an appointment.

Both columns are nullable, so SQLite adds them in place (ALTER TABLE ADD
COLUMN) and keeps the overlap triggers of 0002; see 0003.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('scheduling', '0003_appointment_arrived'),
    ]

    operations = [
        migrations.AddField(
            model_name='appointment',
            name='confirmed_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='appointment',
            name='confirmed_via',
            field=models.CharField(blank=True, choices=[('phone', 'Phone agent'), ('dashboard', 'Dashboard'), ('admin', 'Admin')], max_length=20, null=True),
        ),
    ]
