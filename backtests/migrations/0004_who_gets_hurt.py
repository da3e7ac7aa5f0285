# Who the proposal hurts at the starting price, computed once when its run finishes.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("backtests", "0003_one_word_per_idea"),
    ]

    operations = [
        migrations.AddField(
            model_name="backtestrun",
            name="who_gets_hurt",
            field=models.JSONField(blank=True, default=dict),
        ),
    ]
