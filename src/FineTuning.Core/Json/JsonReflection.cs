using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace FineTuning.Json;

/// <summary>
/// The serializer options behind every JSON file the library writes or binds by reflection (configs, checkpoints,
/// adapter files). They name the reflection-based resolver explicitly, so the files still work in an app that turns
/// reflection-based serialization off by default: .NET 10 file-based apps (<c>dotnet run app.cs</c>) and apps with
/// <c>JsonSerializerIsReflectionEnabledByDefault=false</c> (trimmed or AOT-minded), where options without a resolver
/// throw "Reflection-based serialization has been disabled for this application".
/// </summary>
internal static class JsonReflection
{
    /// <summary>New options with the reflection-based resolver; <paramref name="indented"/> sets <c>WriteIndented</c>.</summary>
    internal static JsonSerializerOptions Options(bool indented = false) => new() { TypeInfoResolver = new DefaultJsonTypeInfoResolver(), WriteIndented = indented };
}
