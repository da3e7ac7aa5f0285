# One word per idea (docs/glossary.md): a compressed month (or year) of a price series is a
# block; "chunk" is a slice of a backtest run's paths.
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("scenarios", "0001_initial")]

    operations = [
        migrations.RenameModel("PriceChunk", "PriceBlock"),
        migrations.RemoveConstraint(model_name="priceblock", name="scenarios_chunk_period"),
        migrations.AddConstraint(
            model_name="priceblock",
            constraint=models.UniqueConstraint(
                fields=["series", "period_start"], name="scenarios_block_period"
            ),
        ),
        migrations.RenameIndex(
            model_name="priceblock", new_name="scenarios_block_window", old_name="scenarios_chunk_window"
        ),
        migrations.AlterField(
            model_name="priceblock",
            name="series",
            field=models.ForeignKey(
                on_delete=models.deletion.CASCADE, related_name="blocks", to="scenarios.priceseries"
            ),
        ),
    ]
