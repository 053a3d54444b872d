from goship.cli import main

main()
