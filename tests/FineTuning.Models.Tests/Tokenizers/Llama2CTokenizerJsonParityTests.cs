using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
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
            foreach (string text in Corpus())
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

    private static IEnumerable<string> Corpus()
    {
        yield return "Once upon a time, there was a little girl named Lily.";
        yield return "Lily's mom said, \"Lily, let's go to the park.\"\nThe end.";
        yield return "café naïve — “quotes” 中文 😀 👩‍💻";
        yield return "  two spaces, a tab\tand 1234567890";
        var random = new Random(20261206);
        string[] pool = { "the", " the", "a", " ", "  ", "\n", "Lily", " was", "é", "中", "😀", ".", ",", "\"", "'s", "ing", "ed", "~", "{}" };
        for (int i = 0; i < 200; i++)
        {
            var text = new StringBuilder();
            int parts = random.Next(1, 25);
            for (int p = 0; p < parts; p++)
            {
                text.Append(random.Next(4) == 0 ? char.ConvertFromUtf32(random.Next(2) == 0 ? random.Next(0x20, 0x7F) : random.Next(0xA0, 0xD7FF)) : pool[random.Next(pool.Length)]);
            }

            yield return text.ToString();
        }
    }
}
