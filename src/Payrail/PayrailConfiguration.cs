namespace Payrail;

/// <summary>
/// The one configuration source of every role: appsettings.json beside the binary, then
/// environment variables in the form PAYRAIL__Section__Key.
/// </summary>
public static class PayrailConfiguration
{
    public const string EnvironmentPrefix = "PAYRAIL__";

    public static IConfigurationRoot Load(IEnumerable<KeyValuePair<string, string?>>? overrides = null)
    {
        var builder = new ConfigurationBuilder();
        Apply(builder, overrides);
        return builder.Build();
    }

    public static void Apply(IConfigurationBuilder builder, IEnumerable<KeyValuePair<string, string?>>? overrides = null)
    {
        builder.AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: false);
        builder.AddEnvironmentVariables(EnvironmentPrefix);
        if (overrides is not null) builder.AddInMemoryCollection(overrides);
    }

    /// <summary>Project root: where `.payrail/` lives. Set by ./payrail; falls back to the working directory.</summary>
    public static string RootDirectory =>
        Environment.GetEnvironmentVariable("PAYRAIL_ROOT") is { Length: > 0 } root ? root : Directory.GetCurrentDirectory();

    public static string StateDirectory => Path.Combine(RootDirectory, ".payrail");
}
