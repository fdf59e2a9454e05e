import ArgumentParser
import Training

extension ModelLevelPlacement: ExpressibleByArgument {}
