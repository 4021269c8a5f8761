std = "lua54"
max_line_length = 120
codes = true
files["spec/"] = { std = "+busted" }
files["docs/example_spec.lua"] = { std = "+busted" }
exclude_files = { "build/", "build-asan/" }
