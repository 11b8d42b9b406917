"""The site's demo: `manage.py seed_demo` runs every area's `demo.py` in order. It sits above the
areas (it knows them all), as `dashboard/urls.py` does, so no area and neither `core` nor `dynamo`
needs to know of the others."""
