using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.IdentityModel.Tokens;
using Payrail.Api;

namespace Payrail.Auth;

public static class AuthExtensions
{
    public static IServiceCollection AddPayrailJwt(this IServiceCollection services, AuthOptions options)
    {
        services.AddSingleton(options);
        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer(jwt =>
        {
            jwt.MapInboundClaims = false;
            jwt.TokenValidationParameters = new TokenValidationParameters
            {
                ValidIssuer = options.Issuer,
                ValidAudience = options.Audience,
                IssuerSigningKey = options.SigningKey,
                ValidAlgorithms = [options.JwksUrl is null ? SecurityAlgorithms.HmacSha256 : SecurityAlgorithms.RsaSha256],
                NameClaimType = Caller.SubjectClaim,
                RoleClaimType = Caller.RoleClaim,
                ClockSkew = TimeSpan.FromSeconds(30),
                RequireExpirationTime = true,
            };
            if (options.JwksUrl is { } jwks) jwt.ConfigurationManager = JwksKeys.Manager(jwks);
            jwt.Events = new JwtBearerEvents
            {
                OnTokenValidated = context =>
                {
                    if (context.Principal is null || Caller.TryFrom(context.Principal) is null)
                        context.Fail("token lacks a valid sub, role or merchant_id");
                    return Task.CompletedTask;
                },
                // The reason stays in the server log at debug level; the client learns only that the token was refused.
                OnChallenge = async context =>
                {
                    context.HandleResponse();
                    context.Response.Headers.WWWAuthenticate = "Bearer";
                    var detail = context.AuthenticateFailure is null
                        ? "A bearer token is required."
                        : "The bearer token is invalid or expired.";
                    await Problems.WriteAsync(context.HttpContext, Problems.Unauthorized, "Unauthorized", StatusCodes.Status401Unauthorized, detail);
                },
                OnForbidden = context =>
                    Problems.WriteAsync(context.HttpContext, Problems.Forbidden, "Forbidden", StatusCodes.Status403Forbidden,
                        "This token's role may not use this endpoint."),
            };
        });
        // Policies read the same Caller the endpoints read: a claim-based policy would match any of several role
        // claims while the endpoint saw another one.
        services.AddAuthorizationBuilder()
            .AddPolicy(Roles.Buyer, p => p.RequireAssertion(ctx => Caller.TryFrom(ctx.User)?.Role == Roles.Buyer))
            .AddPolicy(Roles.Merchant, p => p.RequireAssertion(ctx => Caller.TryFrom(ctx.User)?.Role == Roles.Merchant))
            .AddPolicy(Roles.Ops, p => p.RequireAssertion(ctx => Caller.TryFrom(ctx.User)?.Role == Roles.Ops))
            .AddPolicy("any", p => p.RequireAssertion(ctx => Caller.TryFrom(ctx.User) is not null));
        return services;
    }
}
