from cooptrack.cli import main

main()
