import sys

from filters.mosaic_eval import main

sys.exit(main())
