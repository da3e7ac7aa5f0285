# One word per idea (docs/glossary.md): the version a proposal changes is the live version it
# was written against ("base" is no longer used).
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("proposals", "0002_versions_and_proposals")]

    operations = [
        migrations.RenameField("proposal", "base_version", "live_version"),
        migrations.AlterField(
            model_name="proposal",
            name="live_version",
            field=models.ForeignKey(
                on_delete=models.deletion.PROTECT,
                related_name="changing_proposals",
                to="proposals.parametersetversion",
            ),
        ),
    ]
