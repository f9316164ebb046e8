using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("Payrail.Tests")]
