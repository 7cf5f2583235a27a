# frozen_string_literal: true

# The indexes the recommendations service relies on in the Rails database: its sync reads likes and
# clicks newer than a watermark (created_at), and every personalised request reads one user's newest
# likes and clicks (user_id, created_at); a present made public (or public again) has its older likes
# and clicks read by present (handpicked_present_id: Rails' references create these two, and
# if_not_exists keeps them). Built concurrently, so Rails' writes are never blocked;
# concurrent builds cannot run in a transaction. Rails owns its schema: this migration is the
# service's request, run by the Rails team with their other migrations. A concurrent build that
# fails leaves an INVALID index that if_not_exists would keep: drop it before running this again.
class AddRecommendationIndexes < ActiveRecord::Migration[7.1]
  disable_ddl_transaction!

  def change
    add_index :handpicked_likes, :created_at, algorithm: :concurrently, if_not_exists: true
    add_index :handpicked_likes, %i[user_id created_at], algorithm: :concurrently, if_not_exists: true
    add_index :handpicked_present_clicks, :created_at, algorithm: :concurrently, if_not_exists: true
    add_index :handpicked_present_clicks, %i[user_id created_at], algorithm: :concurrently, if_not_exists: true
    add_index :handpicked_likes, :handpicked_present_id, algorithm: :concurrently, if_not_exists: true
    add_index :handpicked_present_clicks, :handpicked_present_id, algorithm: :concurrently, if_not_exists: true
  end
end
