namespace Payrail.Auth;

/// <summary>`payrail token`: a development JWT signed with the configured key, or the dev key `payrail up` generated.</summary>
public static class TokenCommand
{
    private const int MaxTtlMinutes = 7 * 24 * 60;

    public static int Run(IConfiguration configuration, string role, string sub, string? merchant, int ttlMinutes)
    {
        if (!Roles.IsKnown(role))
        {
            Console.Error.WriteLine("--role must be buyer, merchant or ops");
            return 2;
        }
        if (role == Roles.Merchant && string.IsNullOrEmpty(merchant))
        {
            Console.Error.WriteLine("--merchant is required for a merchant token");
            return 2;
        }
        if (ttlMinutes is < 1 or > MaxTtlMinutes)
        {
            Console.Error.WriteLine($"--ttl-minutes must be 1-{MaxTtlMinutes}");
            return 2;
        }
        AuthOptions options;
        try
        {
            options = AuthOptions.ForDevTool(configuration);
        }
        catch (InvalidOperationException e)
        {
            Console.Error.WriteLine(e.Message);
            return 1;
        }
        var token = DevTokens.Issue(options, role, sub, role == Roles.Merchant ? merchant : null,
            TimeSpan.FromMinutes(ttlMinutes), TimeProvider.System.GetUtcNow());
        Console.WriteLine(token);
        return 0;
    }
}
