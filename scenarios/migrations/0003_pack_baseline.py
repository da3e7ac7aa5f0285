# The stress pack fixes every run's seed, paths, chunk size and book (one baseline per market).

import django.db.models.deletion
from django.db import migrations, models

import scenarios.models


def fix_baselines(apps, schema_editor):
    """Each existing pack gets a seed of its own and its market's default book."""
    StressPack = apps.get_model("scenarios", "StressPack")
    Book = apps.get_model("scenarios", "Book")
    for pack in StressPack.objects.all():
        pack.seed = scenarios.models.new_pack_seed()
        pack.book = Book.objects.filter(market_id=pack.market_id, is_default=True).first()
        pack.save(update_fields=["seed", "book"])


class Migration(migrations.Migration):
    dependencies = [
        ("scenarios", "0002_price_blocks"),
    ]

    operations = [
        migrations.AddField(
            model_name="stresspack",
            name="book",
            field=models.ForeignKey(
                blank=True,
                help_text="The book every run on this pack uses; blank: the market's default book.",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="packs",
                to="scenarios.book",
            ),
        ),
        migrations.AddField(
            model_name="stresspack",
            name="chunk_paths",
            field=models.PositiveIntegerField(
                default=scenarios.models.default_pack_chunk_paths,
                help_text="Paths a worker computes per task; part of the baseline (other chunks, other paths).",
                verbose_name="paths per chunk",
            ),
        ),
        migrations.AddField(
            model_name="stresspack",
            name="n_paths",
            field=models.PositiveIntegerField(
                default=scenarios.models.default_pack_paths,
                help_text="Paths of every simulated scenario (a replay of history is one path).",
                verbose_name="paths per scenario",
            ),
        ),
        migrations.AddField(
            model_name="stresspack",
            name="seed",
            field=models.PositiveBigIntegerField(
                default=scenarios.models.new_pack_seed,
                help_text="Seed of every run on this pack: the paths of scenario s, chunk c are default_rng([seed, 0, s, c]).",
            ),
        ),
        migrations.RunPython(fix_baselines, migrations.RunPython.noop),
    ]
