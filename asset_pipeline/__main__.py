import sys

from asset_pipeline.cli import main

sys.exit(main())
