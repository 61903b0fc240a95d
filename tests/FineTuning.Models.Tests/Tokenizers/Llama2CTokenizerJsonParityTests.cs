using System;
using System.IO;
using System.Linq;
using FineTuning.Models.Tokenizers;
using FineTuning.Testing;
using Xunit;

namespace FineTuning.Models.Tests.Tokenizers;

/// <summary>
/// The tokenizer.json written from llama2.c's tok512.bin, read by Hugging Face's own tokenizers library (Rust, through
/// Tokenizers.DotNet): it encodes to llama2.c's ids, so transformers' fast tokenizer would too.
/// </summary>
public sealed class Llama2CTokenizerJsonParityTests
{
    [SkippableFact]
    public void HfTokenizersLibrary_ReadsWrittenJson_SameIdsAsLlama2COnCorpus()
    {
        string models = ModelFiles.Stories260K();
        Llama2CTokenizer ours = Llama2CTokenizer.Load(Path.Combine(models, "tok512.bin"));
        string file = Path.Combine(Path.GetTempPath(), $"ft-tok512-{Guid.NewGuid():N}.json");
        try
        {
            File.WriteAllText(file, ours.ToTokenizerJson());
            var theirs = new global::Tokenizers.DotNet.Tokenizer(vocabPath: file);
            foreach (string text in TextCorpus.Mixed(seed: 20261206, count: 200))
            {
                // The library adds BOS through the TemplateProcessing post-processor, as HF's LLaMA tokenizer does.
                uint[] ids = theirs.Encode(text);
                Assert.Equal(ours.Encode(text, addBos: true), ids.Select(i => (int)i).ToArray());
                Assert.Equal(ours.Decode(ours.Encode(text, addBos: true)), theirs.Decode(ids));
            }
        }
        finally
        {
            File.Delete(file);
        }
    }
}
