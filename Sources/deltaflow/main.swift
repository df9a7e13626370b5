import DeltaflowCLI

DeltaflowCLI.main()
