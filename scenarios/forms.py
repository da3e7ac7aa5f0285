from django import forms

from proposals.models import Market
from scenarios.models import PriceSeries


class StressPackForm(forms.Form):
    """Build a market's standard stress pack (engine.scenarios.standard_pack) from the web."""

    market = forms.ModelChoiceField(queryset=Market.objects.all())
    series = forms.ModelChoiceField(
        queryset=PriceSeries.objects.all(), help_text="History the scenarios replay and fit"
    )
    depth_usd = forms.FloatField(min_value=1.0, initial=50_000_000.0, label="Normal depth (USD)")
    start_price = forms.FloatField(
        min_value=0.0,
        required=False,
        help_text="Rescale every scenario to start here (blank: history's levels)",
    )
    n_steps = forms.IntegerField(
        min_value=1,
        max_value=100_000,
        initial=720,
        label="Steps of simulated scenarios",
        help_text="One step a bar; a replay keeps its window, four steps a bar",
    )
    seed = forms.IntegerField(
        min_value=0, initial=20200312, help_text="Seed of the first scenario (then +1 each)"
    )
    name = forms.CharField(max_length=120, initial="Standard stress pack")
    replace = forms.BooleanField(required=False, help_text="Rebuild an existing pack of that name")
