using System;
using System.IO;
using System.Linq;
using FineTuning.Data;
using FineTuning.Data.Templates;
using FineTuning.Models;
using FineTuning.Models.Llama;
using FineTuning.Sft;
using FineTuning.Testing;
using FineTuning.Training;
using Microsoft.Extensions.Logging;
using Xunit;

namespace FineTuning.Core.Tests.Sft;

/// <summary>One-call SFT from a file: format detection, template choice, TRL's labels, split, packing, report, errors.</summary>
public sealed class SftTunerTests : IDisposable
{
    private readonly TempDirectory _dir = new("sft");
    private readonly ByteTokenizer _tokenizer = new();

    public void Dispose() => _dir.Dispose();

    private SftTuner Tuner(LlamaForCausalLM model) =>
        FineTuner.ForSft(model, _tokenizer).WithOptions(o => { o.Epochs = 1; o.BatchSize = 4; o.LearningRate = 1e-3; });

    [Fact]
    public void Train_PromptCompletionFile_DetectsFormat_LearnsCompletionAndEosOnly()
    {
        using LlamaForCausalLM model = SftFixture.Model();
        using SftRun run = Tuner(model).WithSftOptions(o => { o.ValidationFraction = 0.2; o.Seed = 3; }).Train(SftFixture.PromptCompletionFile(_dir.Path));

        Assert.Equal(SftDataFormat.PromptCompletion, run.Format);
        Assert.Equal("prompt + completion", run.Template.Name);
        Assert.Equal(8, run.Train.Sequences.Count);
        Assert.Equal(2, run.Validation!.Sequences.Count);
        Assert.Equal(2, run.ValidationExamples.Count);
        Assert.Equal(10, run.DataReport!.Examples);
        Assert.NotEmpty(run.Training.Evaluations);
        // TRL's completion-only loss on plain prompt + completion: BOS prompt completion EOS, labels on completion + EOS.
        foreach (TokenSequence s in run.Train.Sequences)
        {
            (string prompt, string completion) = SftFixture.Pairs(10).Single(p => _tokenizer.Decode(s.InputIds.Select(i => (int)i)) == p.Prompt + p.Completion);
            long[] expectedIds = new long[] { _tokenizer.BosId }.Concat(_tokenizer.Encode(prompt + completion, addBos: false).Select(i => (long)i)).Append(_tokenizer.EosId).ToArray();
            long[] expectedLabels = expectedIds.Select((id, i) => i <= prompt.Length ? TokenSequence.IgnoreIndex : id).ToArray();
            Assert.Equal(expectedIds, s.InputIds);
            Assert.Equal(expectedLabels, s.Labels);
        }
    }

    [Fact]
    public void Train_MessagesWithoutTemplate_ChatTemplateExceptionNamesFileAndFix()
    {
        using LlamaForCausalLM model = SftFixture.Model();
        var e = Assert.Throws<ChatTemplateException>(() => Tuner(model).Train(SftFixture.MessagesFile(_dir.Path)));
        Assert.Contains("chat.jsonl holds conversations (Messages)", e.Message, StringComparison.Ordinal);
        Assert.Contains("WithTemplate(ChatTemplates.ChatML)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Train_MessagesWithTokenizerConfigInModelFolder_UsesItsChatTemplate_AssistantOnlyLoss()
    {
        using LlamaForCausalLM model = SftFixture.Model();
        string folder = Directory.CreateDirectory(Path.Combine(_dir.Path, "model")).FullName;
        File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"),
            """{"chat_template": "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"}""");
        model.NameOrPath = folder;

        using SftRun run = Tuner(model).WithSftOptions(o => o.ValidationFraction = 0).Train(SftFixture.MessagesFile(_dir.Path));

        Assert.Same(ChatTemplates.ChatML, run.Template);
        Assert.Null(run.Validation);
        Assert.Empty(run.Training.Evaluations);
        // Assistant-only loss: the learned tokens are the answer and the end-of-turn marker (text here: no special ids).
        TokenSequence first = run.Train.Sequences[0];
        string learned = _tokenizer.Decode(first.Labels.Where(l => l >= 0).Select(l => (int)l));
        Assert.Equal(" 2.<|im_end|>", learned);
    }

    [Fact]
    public void Train_JsonArrayOfAlpacaRecords_DetectedWithAlpacaTemplate()
    {
        using LlamaForCausalLM model = SftFixture.Model();
        string path = Path.Combine(_dir.Path, "alpaca.json");
        File.WriteAllText(path, "[\n" + string.Join(",\n", Enumerable.Range(0, 4).Select(i => $$"""{"instruction": "Add {{i}} and 1.", "input": "", "output": "{{i + 1}}"}""")) + "\n]");

        using SftRun run = Tuner(model).WithSftOptions(o => o.ValidationFraction = 0).Train(path);

        Assert.Equal(SftDataFormat.Alpaca, run.Format);
        Assert.Same(ChatTemplates.Alpaca, run.Template);
        Assert.Equal(4, run.Train.Sequences.Count);
    }

    [Fact]
    public void Train_TextFile_LearnsEveryToken_NoChatReport()
    {
        using LlamaForCausalLM model = SftFixture.Model();
        string path = SftFixture.WriteJsonl(_dir.Path, "text.jsonl", new object[] { new { text = "abc" }, new { text = "de" } });

        using SftRun run = Tuner(model).WithSftOptions(o => o.ValidationFraction = 0).Train(path);

        Assert.Equal(SftDataFormat.Text, run.Format);
        Assert.Null(run.DataReport);
        Assert.Equal(new long[] { 1, 3 + 'a', 3 + 'b', 3 + 'c', 2 }, run.Train.Sequences[0].Labels);
    }

    [Fact]
    public void Train_UnknownRecordShape_DataFormatExceptionNamesFileLineAndFields()
    {
        using LlamaForCausalLM model = SftFixture.Model();
        string path = Path.Combine(_dir.Path, "odd.jsonl");
        File.WriteAllText(path, "\n{\"question\": \"q\", \"answer\": \"a\"}\n");

        var e = Assert.Throws<DataFormatException>(() => Tuner(model).Train(path));

        Assert.Equal("odd.jsonl", e.File);
        Assert.Equal(2, e.Line);
        Assert.Contains("[answer, question]", e.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Train_MalformedThirdRecord_DataFormatExceptionNamesLineAndField()
    {
        using LlamaForCausalLM model = SftFixture.Model();
        string path = SftFixture.WriteJsonl(_dir.Path, "bad.jsonl", new object[]
        {
            new { prompt = "a", completion = "b" }, new { prompt = "c", completion = "d" }, new { prompt = "e", completion = 5 },
        });

        var e = Assert.Throws<DataFormatException>(() => Tuner(model).Train(path));

        Assert.Equal(("bad.jsonl", 3L, "completion"), (e.File, e.Line, e.Field));
    }

    [Fact]
    public void Train_Packing_TrainsOnPackedRows()
    {
        using LlamaForCausalLM model = SftFixture.Model();
        using SftRun run = Tuner(model).WithSftOptions(o => { o.Packing = true; o.MaxLength = 64; o.ValidationFraction = 0.2; }).Train(SftFixture.PromptCompletionFile(_dir.Path));

        int rows = SequencePacker.Pack(run.Train.Sequences, 64).Count;
        Assert.True(rows < run.Train.Sequences.Count, $"{run.Train.Sequences.Count} examples of ~25 tokens fit fewer rows of 64, got {rows}");
        Assert.Equal((rows + 3) / 4, run.Training.TotalSteps);
        Assert.NotEmpty(run.Training.Evaluations);
    }

    [Fact]
    public void Train_WithLogging_LogsDataReport()
    {
        using LlamaForCausalLM model = SftFixture.Model();
        using var logger = new ListLogger();
        using var factory = LoggerFactory.Create(b => b.AddProvider(logger));

        using SftRun run = Tuner(model).WithLogging(factory).Train(SftFixture.PromptCompletionFile(_dir.Path));

        Assert.Contains(logger.Entries, e => e.Message.Contains("Read 10 PromptCompletion records from pc.jsonl", StringComparison.Ordinal));
        Assert.Contains(logger.Entries, e => e.Message.Contains("Data report:", StringComparison.Ordinal) && e.Message.Contains("examples: 10,", StringComparison.Ordinal));
    }

    [Fact]
    public void Train_BadSftOptions_ListsEveryProblem()
    {
        using LlamaForCausalLM model = SftFixture.Model();
        var e = Assert.Throws<InvalidConfigurationException>(() =>
            Tuner(model).WithSftOptions(o => { o.ValidationFraction = 1.5; o.MaxLength = 1; }).Train(SftFixture.PromptCompletionFile(_dir.Path)));
        Assert.Contains("ValidationFraction must be in [0, 1) (was 1.5)", e.Message, StringComparison.Ordinal);
        Assert.Contains("MaxLength must be at least 2 (was 1)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Train_MissingFile_FileNotFoundNamesPath()
    {
        using LlamaForCausalLM model = SftFixture.Model();
        string path = Path.Combine(_dir.Path, "none.jsonl");
        var e = Assert.Throws<FileNotFoundException>(() => Tuner(model).Train(path));
        Assert.Equal(path, e.FileName);
    }
}
