import ArgumentParser

/// The `mercato` command line.
@main
struct Mercato: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Mercato: a multi-tenant commerce API server.",
        subcommands: [Serve.self, Migrate.self, Seed.self, Token.self, InventoryServiceCommand.self, TaxServiceCommand.self, Bench.self],
        defaultSubcommand: Serve.self)
}
