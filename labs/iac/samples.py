"""The bookstore's CloudFormation templates, as the IaC labs deploy them.

Two stacks, as a team would split them:

* **data** (:data:`BOOKSTORE_DATA`) — the backing resources of the catalog, orders and payments
  services: an artifacts bucket, the books table, the orders queue with its dead-letter queue,
  an alerts topic, a configuration parameter, a log group, the services' IAM role and a
  queue-depth alarm. It shows parameters, a mapping, conditions and exported outputs.
* **app** (:data:`BOOKSTORE_APP`) — the order-handler function, which imports the data
  stack's exports with ``Fn::ImportValue``.

They are plain YAML in the short form, as people write them; ``labs.iac.load`` reads them.
"""

from __future__ import annotations

from labs.env import Workshop

__all__ = ["BOOKSTORE_APP", "BOOKSTORE_DATA", "PAYMENTS_WITH_MISTAKES", "colleague_console_change"]

BOOKSTORE_DATA = """\
AWSTemplateFormatVersion: "2010-09-09"
Description: Bookstore backing resources (lab 06)

Parameters:
  Env:
    Type: String
    Default: dev
    AllowedValues: [dev, prod]
    Description: Which environment this stack is for.

Mappings:
  EnvSettings:
    dev:
      LogRetentionDays: 7
      QueueVisibilitySeconds: 30
    prod:
      LogRetentionDays: 90
      QueueVisibilitySeconds: 60

Conditions:
  IsProd: !Equals [!Ref Env, prod]

Resources:
  ArtifactsBucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Sub "labs-bookstore-${Env}-artifacts-${AWS::AccountId}-${AWS::Region}"
      VersioningConfiguration:
        Status: Enabled
      BucketEncryption:
        ServerSideEncryptionConfiguration:
          - ServerSideEncryptionByDefault:
              SSEAlgorithm: AES256
      Tags:
        - Key: app
          Value: bookstore

  BooksTable:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: !Sub "labs-bookstore-${Env}-books"
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - AttributeName: isbn
          AttributeType: S
      KeySchema:
        - AttributeName: isbn
          KeyType: HASH

  OrdersDeadLetterQueue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub "labs-bookstore-${Env}-orders-dlq"
      MessageRetentionPeriod: 1209600

  OrdersQueue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub "labs-bookstore-${Env}-orders"
      VisibilityTimeout: !FindInMap [EnvSettings, !Ref Env, QueueVisibilitySeconds]
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt OrdersDeadLetterQueue.Arn
        maxReceiveCount: 5

  AlertsTopic:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: !Sub "labs-bookstore-${Env}-alerts"
      DisplayName: Bookstore alerts

  OrdersQueueUrlParameter:
    Type: AWS::SSM::Parameter
    Properties:
      Name: !Sub "/labs/bookstore/${Env}/orders-queue-url"
      Type: String
      Value: !Ref OrdersQueue

  ServiceLogGroup:
    Type: AWS::Logs::LogGroup
    Properties:
      LogGroupName: !Sub "/labs/bookstore/${Env}"
      RetentionInDays: !FindInMap [EnvSettings, !Ref Env, LogRetentionDays]

  ServiceRole:
    Type: AWS::IAM::Role
    Properties:
      RoleName: !Sub "labs-bookstore-${Env}-service"
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal:
              Service: lambda.amazonaws.com
            Action: sts:AssumeRole
      Policies:
        - PolicyName: orders
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Action: [sqs:ReceiveMessage, sqs:DeleteMessage, sqs:GetQueueAttributes]
                Resource: !GetAtt OrdersQueue.Arn
              - Effect: Allow
                Action: [dynamodb:GetItem, dynamodb:PutItem]
                Resource: !GetAtt BooksTable.Arn

  QueueDepthAlarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      AlarmName: !Sub "labs-bookstore-${Env}-orders-backlog"
      Namespace: AWS/SQS
      MetricName: ApproximateNumberOfMessagesVisible
      Dimensions:
        - Name: QueueName
          Value: !GetAtt OrdersQueue.QueueName
      Statistic: Maximum
      Period: 60
      EvaluationPeriods: 5
      Threshold: 100
      ComparisonOperator: GreaterThanThreshold
      AlarmActions:
        - !Ref AlertsTopic

  AuditLogGroup:
    Type: AWS::Logs::LogGroup
    Condition: IsProd
    Properties:
      LogGroupName: !Sub "/labs/bookstore/${Env}/audit"
      RetentionInDays: 365

Outputs:
  OrdersQueueUrl:
    Description: Where the services send orders.
    Value: !Ref OrdersQueue
    Export:
      Name: !Sub "${AWS::StackName}-OrdersQueueUrl"
  OrdersQueueArn:
    Value: !GetAtt OrdersQueue.Arn
    Export:
      Name: !Sub "${AWS::StackName}-OrdersQueueArn"
  BooksTableName:
    Value: !Ref BooksTable
    Export:
      Name: !Sub "${AWS::StackName}-BooksTableName"
  ServiceRoleArn:
    Value: !GetAtt ServiceRole.Arn
    Export:
      Name: !Sub "${AWS::StackName}-ServiceRoleArn"
"""
"""The data stack: every section of a template, the short forms, one resource per service."""

BOOKSTORE_APP = """\
AWSTemplateFormatVersion: "2010-09-09"
Description: Bookstore order handler (lab 06), using the data stack's exports

Parameters:
  DataStack:
    Type: String
    Description: The name of the data stack whose exports this stack imports.

Resources:
  OrderHandler:
    Type: AWS::Lambda::Function
    Properties:
      FunctionName: labs-bookstore-order-handler
      Runtime: python3.12
      Handler: index.handler
      Role:
        Fn::ImportValue: !Sub "${DataStack}-ServiceRoleArn"
      Timeout: 30
      MemorySize: 256
      Environment:
        Variables:
          ORDERS_QUEUE_URL:
            Fn::ImportValue: !Sub "${DataStack}-OrdersQueueUrl"
          BOOKS_TABLE:
            Fn::ImportValue: !Sub "${DataStack}-BooksTableName"
      Code:
        ZipFile: |
          def handler(event, context):
              return {"orders": len(event.get("Records", []))}

Outputs:
  OrderHandlerName:
    Value: !Ref OrderHandler
"""
"""The app stack: a Lambda function wired to the data stack through imports."""

PAYMENTS_WITH_MISTAKES = """\
AWSTemplateFormatVersion: "2010-09-09"
Description: Payments queue, logs and alerts (written in a hurry)

Resources:
  PaymentsQueue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: labs-bookstore-payments
      VisibilityTimout: 60

  PaymentsLogGroup:
    Type: AWS::Logs::LogGroup
    Properties:
      LogGroupName: /labs/bookstore/payments
      RetentionInDays: 10

  PaymentsAlerts:
    Type: AWS::SNS::Topik
    Properties:
      TopicName: labs-bookstore-payments-alerts
"""
"""A template with three mistakes cfn-lint finds and the emulator accepts without a word."""


def colleague_console_change(ctx: Workshop, *, env: str = "dev") -> None:
    """Make the out-of-band change a colleague made "in the console" (lab 06, exercise).

    One property of one resource of the bookstore data stack changes through the service's
    API — not through CloudFormation — so that drift detection is the way to find it.
    """
    sqs = ctx.client("sqs")
    url = sqs.get_queue_url(QueueName=f"labs-bookstore-{env}-orders-dlq")["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"MessageRetentionPeriod": "345600"})
