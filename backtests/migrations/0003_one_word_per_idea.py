# One word per idea (docs/glossary.md): the version a run compares with is the live version,
# and a slice of a scenario's paths is a chunk.
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("backtests", "0002_remove_backtestrun_merge_sent_at")]

    operations = [
        migrations.RenameField("backtestrun", "base_version", "live_version"),
        migrations.RenameField("backtestrun", "block_paths", "chunk_paths"),
        migrations.RemoveConstraint(model_name="chunkresult", name="unique_chunk_per_run"),
        migrations.RenameField("chunkresult", "block_index", "chunk_index"),
        migrations.AddConstraint(
            model_name="chunkresult",
            constraint=models.UniqueConstraint(
                fields=["run", "scenario_index", "chunk_index"], name="unique_chunk_per_run"
            ),
        ),
        migrations.AlterModelOptions(
            name="chunkresult", options={"ordering": ["run", "scenario_index", "chunk_index"]}
        ),
    ]
