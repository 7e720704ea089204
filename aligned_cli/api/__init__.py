"""The runtime API (SPEC §8): load a compiled project and read features from it.

```python
store = FeatureStore.from_manifest("target/manifest.json")
df = await store.model("titanic").features_for({"passenger_id": [1, 2]}).to_pandas()
```
"""

from aligned_cli.api.job import RetrievalJob
from aligned_cli.api.models import ModelStore
from aligned_cli.api.store import FeatureStore
from aligned_cli.api.views import FeatureViewStore

__all__ = ["FeatureStore", "FeatureViewStore", "ModelStore", "RetrievalJob"]
