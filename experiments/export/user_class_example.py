"""Example classes for `export.py --model-class` (used by check_export.py).

`PaperStyleModel` is a late-fusion class written the way the MusicLIME authors wrote theirs:
the same attribute names (`audio_model`, `text_model`, `classifier.layer_norm`,
`classifier.fc`), `forward(input_values, input_ids, attention_mask)` returning logits, and
encoders loaded with `from_pretrained` in `__init__` (export.py builds them from the
checkpoint's configs instead of downloading). The variants fit the same state_dict, or not,
and compute something else: the export must catch each.

    .venv-export/bin/python experiments/export/export.py CKPT OUT \\
        --model-class experiments/export/user_class_example.py:PaperStyleModel
"""

import torch
from torch import nn
from transformers import ASTModel, RobertaModel


class FusionHead(nn.Module):
    def __init__(self, width: int, num_labels: int):
        super().__init__()
        self.layer_norm = nn.LayerNorm(width)
        self.fc = nn.Linear(width, num_labels)

    def forward(self, features):
        return self.fc(self.layer_norm(features))


class PaperStyleModel(nn.Module):
    """AST pooled output and RoBERTa's `<s>` state, concatenated audio first."""

    def __init__(self, num_labels: int):
        super().__init__()
        self.audio_model = ASTModel.from_pretrained("MIT/ast-finetuned-audioset-10-10-0.4593")
        self.text_model = RobertaModel.from_pretrained("roberta-large")
        width = self.audio_model.config.hidden_size + self.text_model.config.hidden_size
        self.classifier = FusionHead(width, num_labels)

    def audio(self, input_values):
        return self.audio_model(input_values=input_values)[1]

    def text(self, input_ids, attention_mask):
        return self.text_model(input_ids=input_ids, attention_mask=attention_mask)[0][:, 0]

    def forward(self, input_values, input_ids, attention_mask):
        both = torch.cat((self.audio(input_values), self.text(input_ids, attention_mask)), dim=1)
        return self.classifier(both)


class TextFirstModel(PaperStyleModel):
    """Wrong: the text embedding first (same shapes, so the weights load)."""

    def forward(self, input_values, input_ids, attention_mask):
        both = torch.cat((self.text(input_ids, attention_mask), self.audio(input_values)), dim=1)
        return self.classifier(both)


class MeanPoolingModel(PaperStyleModel):
    """Wrong: the mean of RoBERTa's token states instead of `<s>`."""

    def text(self, input_ids, attention_mask):
        states = self.text_model(input_ids=input_ids, attention_mask=attention_mask)[0]
        mask = attention_mask.unsqueeze(-1).to(states.dtype)
        return (states * mask).sum(1) / mask.sum(1)


class RenamedHeadModel(PaperStyleModel):
    """Wrong: the head under another name (its keys do not fit the state_dict)."""

    def __init__(self, num_labels: int):
        super().__init__(num_labels)
        self.head = self.classifier
        del self.classifier

    def forward(self, input_values, input_ids, attention_mask):
        both = torch.cat((self.audio(input_values), self.text(input_ids, attention_mask)), dim=1)
        return self.head(both)


class AutoClassModel(PaperStyleModel):
    """Right, built through transformers' Auto classes (`AutoModel.from_pretrained`)."""

    def __init__(self, num_labels: int):
        nn.Module.__init__(self)
        from transformers import AutoModel

        self.audio_model = AutoModel.from_pretrained("MIT/ast-finetuned-audioset-10-10-0.4593")
        self.text_model = AutoModel.from_pretrained("roberta-large")
        width = self.audio_model.config.hidden_size + self.text_model.config.hidden_size
        self.classifier = FusionHead(width, num_labels)


class OneMoreClassModel(PaperStyleModel):
    """Wrong: a head with one class too many (the shapes do not fit the state_dict)."""

    def __init__(self, num_labels: int):
        super().__init__(num_labels + 1)
